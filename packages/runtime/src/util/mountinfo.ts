/** Decodes the octal escapes (`\040` for a space) of /proc/self/mountinfo paths. */
export function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
