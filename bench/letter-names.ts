/**
 * People's names must be letters only, so benchmarks that make many people name them by their
 * index written in letters: 0 "A", 25 "Z", 26 "BA".
 */
export const lettered = (index: number): string =>
  (index >= 26 ? lettered(Math.floor(index / 26)) : "") + String.fromCharCode(65 + (index % 26));
