/**
 * Readers for a feature's own settings (WEBHOOK_*, CONSOLE_*), each problem added to `problems` so that one start
 * reports everything wrong at once, as loadConfig does for the core settings.
 */
export type Env = Record<string, string | undefined>;

/** An integer setting in [min, max], or `dflt` when unset (a bad value is a problem, and `dflt` stands in). */
export function intSetting(env: Env, problems: string[]) {
  return (name: string, dflt: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return dflt;
    }
    return Number(raw);
  };
}
