// claim.ts: a chapter's claim about a result, checked by the cell that prints the result.
// No Linux file. Book: every section whose prose states what a measurement shows.
//
// Interface: claim(ok, text) -> "✓ text" when ok. When not ok: in the book build (which sets
// KERNEL_MODEL_STRICT_CLAIMS=1 for its kernels, and stops at the first failing cell) it
// throws ClaimError("claim failed: text"), so the build fails when the model's data stops
// supporting the prose; in a reader's notebook it returns "✗ text (not with these
// parameters)", so changing a parameter shows which statement stopped holding instead of
// stopping the notebook.

export class ClaimError extends Error {}

/** Check a statement the prose makes about the numbers a cell printed. */
export function claim(ok: boolean, text: string, strict = process.env.KERNEL_MODEL_STRICT_CLAIMS === "1"): string {
  if (ok) return `✓ ${text}`;
  if (strict) throw new ClaimError(`claim failed: ${text}`);
  return `✗ ${text} (not with these parameters)`;
}
