/** PostgreSQL text cannot hold U+0000: a value carrying it can be neither stored nor matched. */
export function hasNulByte(text: string): boolean {
  return text.includes("\u0000");
}
