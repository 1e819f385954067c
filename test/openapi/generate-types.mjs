// Usage: node generate-types.mjs <openapi.json> <out.ts>
// Run as its own Node process because openapi-typescript 7 (its CommonJS build too) requires ESM-only
// dependencies (parse-json 8), which jest's CommonJS module runtime cannot load; plain Node can.
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';

const [docFile, outFile] = process.argv.slice(2);
// defaultNonNullable: false reads `required` alone, as OpenAPI means it. The default (true) also makes every
// property with a `default` required, request bodies included (openapi-ts/openapi-typescript#1741), so a client
// could not leave out `currency` (default INR), which API.md and the document say is optional.
const ast = await openapiTS(JSON.parse(readFileSync(docFile, 'utf8')), { defaultNonNullable: false });
writeFileSync(outFile, astToString(ast));
