// placeholder until the 4.6.2 table lands
export const LINES: Readonly<Record<string, string>> = {};
