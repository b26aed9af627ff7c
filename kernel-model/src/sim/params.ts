// params.ts: checks for the parameters at the top of a notebook, so that a bad value gets one
// line naming the parameter and its range (as the command line does), not a wrong result or
// a stack trace from deep inside the model.
// No Linux file. Book: the "Parameters" cell of each section.
//
// Interface: checkParams({NAME: [value, range], ...}) throws ParamError for the first value out
// of its range; range: {min?, max?, integer?, oneOf?}. The error's stack is its message, so
// Jupyter and the book build show the one line.

export interface ParamRange {
  min?: number;
  max?: number;
  integer?: boolean;
  oneOf?: readonly (string | number)[];
}

export class ParamError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "ParamError";
    this.stack = `ParamError: ${message}`;
  }
}

function describe(r: ParamRange): string {
  if (r.oneOf) return `one of ${r.oneOf.map((v) => JSON.stringify(v)).join(", ")}`;
  const kind = r.integer ? "an integer" : "a number";
  if (r.min !== undefined && r.max !== undefined) return `${kind} in [${r.min}, ${r.max}]`;
  if (r.min !== undefined) return `${kind} >= ${r.min}`;
  if (r.max !== undefined) return `${kind} <= ${r.max}`;
  return kind;
}

/** Check each parameter against its range; throw ParamError naming the first bad one. */
export function checkParams(params: Record<string, [value: unknown, range: ParamRange]>): void {
  for (const [name, [v, r]] of Object.entries(params)) {
    const ok = r.oneOf
      ? r.oneOf.includes(v as string | number)
      : typeof v === "number" && Number.isFinite(v) && (!r.integer || Number.isInteger(v)) &&
        (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max);
    if (!ok) throw new ParamError(`${name} must be ${describe(r)}, got ${JSON.stringify(v)}`);
  }
}
