const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const URLSAFE = `${ALNUM}-_`;

function randomFrom(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

/** Random alphanumeric string; ids only need to be unique-looking, not secure. */
export function alnum(n: number): string {
  return randomFrom(ALNUM, n);
}

/** Random base64url-alphabet string (Gemini `responseId`). */
export function urlSafe(n: number): string {
  return randomFrom(URLSAFE, n);
}
