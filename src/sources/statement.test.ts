import { describe, expect, it } from 'vitest';
import { firstKeyword, refuseStatement } from './statement.js';

describe('refuseStatement', () => {
  it.each([
    'SELECT 1',
    '  select identity, fact, value from t',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    '-- a comment\nSELECT 1',
    '/* outer /* nested */ still a comment */ (SELECT 1)',
  ])('lets one SELECT or WITH through: %j', (sql) => {
    expect(refuseStatement(sql)).toBeUndefined();
  });

  it.each([
    ['DELETE FROM t RETURNING *', /starts with DELETE/],
    ['/* SELECT */ UPDATE t SET x = 1', /starts with UPDATE/],
    ['-- SELECT\nCOMMIT', /starts with COMMIT/],
    ['DO $$ BEGIN PERFORM 1; END $$', /starts with DO/],
    ['SET default_transaction_read_only = off', /starts with SET/],
    ['   ', /no keyword/],
    ['/* unterminated SELECT', /no keyword/],
  ])('refuses %j with a reason', (sql, message) => {
    expect(refuseStatement(sql)).toMatch(/must be one SELECT or WITH statement/);
    expect(refuseStatement(sql)).toMatch(message);
  });

  it('reads the first keyword only', () => {
    expect(firstKeyword('((select 1))')).toBe('SELECT');
    expect(firstKeyword('123')).toBeUndefined();
  });
});
