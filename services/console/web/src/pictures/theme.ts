/** The page's theme colours (style.css: light, or dark from the system's setting), read when a picture draws. */
export function themeColour(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Colours that tell networks apart on a timeline, each readable on both themes (style.css --series-N). */
export const SERIES_COLOURS = 6;
export const seriesVar = (index: number) => `var(--series-${(index % SERIES_COLOURS) + 1})`;
