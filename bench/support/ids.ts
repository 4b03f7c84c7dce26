import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID (48-bit time, 80 random bits, Crockford base32) for the `uid` column of rows a benchmark
 * seeds by direct SQL, as the backend gives every version, model and link one.
 */
export function newUid(time = Date.now()): string {
  let timePart = '';
  for (let rest = time, index = 0; index < 10; index++, rest = Math.floor(rest / 32))
    timePart = CROCKFORD[rest % 32] + timePart;
  const random = randomBytes(16);
  let randomPart = '';
  for (let index = 0; index < 16; index++) randomPart += CROCKFORD[random[index]! % 32];
  return timePart + randomPart;
}
