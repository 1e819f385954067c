import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, validationFailed } from './errors';

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith(`property ${e.property} should not exist`) ? 'is not a known field'
        : message.replace(new RegExp(`^${e.property} `), ''),
    }));
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

/** Unknown fields are refused (a client-supplied `status` is a 400, not silently dropped). */
export const apiValidationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
  exceptionFactory: (errors) => validationFailed(flattenValidationErrors(errors)),
});
