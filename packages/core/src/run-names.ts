const ADJECTIVES = [
  'amber',
  'bold',
  'brisk',
  'calm',
  'clever',
  'crisp',
  'daring',
  'eager',
  'fair',
  'fluent',
  'gentle',
  'glad',
  'golden',
  'keen',
  'lively',
  'lucid',
  'mellow',
  'nimble',
  'proud',
  'quiet',
  'rapid',
  'royal',
  'silent',
  'steady',
  'swift',
  'tidy',
  'vivid',
  'warm',
  'wise',
  'young',
];
const NOUNS = [
  'arrow',
  'brook',
  'cedar',
  'cloud',
  'comet',
  'dawn',
  'delta',
  'ember',
  'field',
  'fjord',
  'frost',
  'grove',
  'harbor',
  'lake',
  'leaf',
  'meadow',
  'moon',
  'oak',
  'peak',
  'pine',
  'quiver',
  'river',
  'sky',
  'star',
  'stone',
  'storm',
  'sun',
  'tide',
  'valley',
  'wave',
];

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random bytes from WebCrypto (Node's global `crypto` and the browser's alike). */
function randomBytes(count: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(count));
}

/** A short random run id: 8 characters of [0-9a-z] (about 41 bits). */
export function newRunId(): string {
  const bytes = randomBytes(8);
  return Array.from(bytes, (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

/** A readable run name such as `swift-river-12`; the number counts runs in the project. */
export function newRunName(sequence: number): string {
  const bytes = randomBytes(2);
  return `${ADJECTIVES[bytes[0]! % ADJECTIVES.length]}-${NOUNS[bytes[1]! % NOUNS.length]}-${sequence}`;
}
