// claim.ts: a chapter's claim about a result, checked by the cell that prints the result.
// No Linux file. Book: every section whose prose states what a measurement shows.
//
// Interface: claim(ok, text) -> "✓ text" when ok; throws ClaimError("claim failed: text")
// otherwise, so the book build (which stops at the first failing cell) fails when the model's
// data stops supporting the prose.

export class ClaimError extends Error {}

/** Check a statement the prose makes about the numbers a cell printed. */
export function claim(ok: boolean, text: string): string {
  if (!ok) throw new ClaimError(`claim failed: ${text}`);
  return `✓ ${text}`;
}
