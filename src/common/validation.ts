import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { badField, FieldProblem, validationFailed } from './errors';
import { unstorableText } from './text';

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith(`property ${e.property} should not exist`)
        ? 'is not a known field'
        : message.replace(new RegExp(`^${e.property} `), ''),
    }));
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

/**
 * The global pipe. Before class-transformer sees anything: a body declared as a DTO must be a JSON object (no
 * body counts as `{}`, so a missing required field is named), and no text of a body, query or path parameter may
 * hold what the database cannot store (common/text.ts). Then class-validator, with unknown fields refused (a
 * client-supplied `status` is a 400, not silently dropped). An argument typed `unknown` (bulk intake's body) is
 * left to its handler, which checks each item on its own.
 */
class ApiValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.metatype === Object) return super.transform(value, metadata);
    if (metadata.type === 'body' && this.toValidate(metadata)) {
      if (value === undefined) value = {};
      else if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badField('body', 'must be a JSON object');
    }
    const problems = unstorableText(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (problems.length > 0) throw validationFailed(problems);
    return super.transform(value, metadata);
  }
}

export const apiValidationPipe = new ApiValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => validationFailed(flattenValidationErrors(errors)),
});
