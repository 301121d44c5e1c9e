/**
 * Which statement a FactSource query is, checked before it is sent. Pure. Only one SELECT (or WITH … SELECT) may
 * run; the database enforces the rest (one statement per prepared statement, a read-only transaction), this check
 * only gives the user a clear reason first. Comments and opening parentheses before the first word are skipped.
 */

/** The statements a FactSource may run. */
export const ALLOWED_STATEMENTS = ['SELECT', 'WITH'] as const;

/** The first keyword of `sql` in upper case, or undefined when there is none. */
export function firstKeyword(sql: string): string | undefined {
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s|\(/.test(c)) i++;
    else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      // PostgreSQL's block comments nest.
      let depth = 1;
      i += 2;
      while (i < sql.length && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else break;
  }
  const word = /^[A-Za-z_]+/.exec(sql.slice(i))?.[0];
  return word?.toUpperCase();
}

/** Why `sql` may not run, in words for the status; undefined when it is one SELECT or WITH. */
export function refuseStatement(sql: string): string | undefined {
  const word = firstKeyword(sql);
  if (word && (ALLOWED_STATEMENTS as readonly string[]).includes(word)) return undefined;
  const found = word ? `it starts with ${word.slice(0, 32)}` : 'it starts with no keyword';
  return `spec.postgres.query must be one SELECT or WITH statement; ${found}`;
}
