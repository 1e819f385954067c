/**
 * What a use…() helper's hooks set, read through one of its getters. Before that hook has run (at describe time, or
 * in a hook declared before the helper was called) there is nothing yet: a mistake in the test file, said as such.
 */
export function setByHook<T>(value: T | undefined, helper: string, what: string, property: string): T {
  if (value === undefined)
    throw new Error(
      `${helper}: no ${what} here; read \`.${property}\` inside a test or a hook declared after ${helper}(), not at describe time`,
    );
  return value;
}
