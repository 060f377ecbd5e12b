/**
 * What a visitor types, as the parts of a composed query (POST /api/search/compose): a minus at the start of a word
 * or of a "quoted phrase" searches away from it, so "a harbour -people" is "a harbour" with "people" taken away.
 */
import type { QueryPart } from './api';

/** How much a minus term counts against what is searched for (1): half, so that what is left out tilts the ranking
 * without outweighing the search itself. Not measured: the only CLIP weights here are random. */
export const AWAY_WEIGHT = -0.5;

/** A search box's text: what to search towards, and each term to search away from. */
export interface Wording {
  towards: string;
  away: string[];
}

/** A minus after the start or a space, then a quoted phrase or a word ("black-and-white" keeps its hyphens). */
const MINUS_TERM = /(^|\s)-(?:"([^"]*)"|(\S+))/g;

export function parseWording(text: string): Wording {
  const away: string[] = [];
  const towards = text
    .replace(MINUS_TERM, (_match, before: string, phrase: string | undefined, word: string | undefined) => {
      const term = (phrase ?? word ?? '').trim();
      if (term) away.push(term);
      return before;
    })
    .replace(/\s+/g, ' ')
    .trim();
  return { towards, away };
}

/** The parts of a wording: what it searches towards at `weight`, each minus term at AWAY_WEIGHT. */
export function wordingParts({ towards, away }: Wording, weight: number = 1): QueryPart[] {
  const parts: QueryPart[] = towards ? [{ text: towards, weight }] : [];
  return [...parts, ...away.map((text) => ({ text, weight: AWAY_WEIGHT }))];
}
