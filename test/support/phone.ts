import type { Page } from "playwright-core";

/** A small phone's screen, as the NHS design system tests its smallest layout. */
export const phone = { width: 375, height: 800 };
export const desktop = { width: 1024, height: 800 };

/**
 * The elements under `selector` whose right edge lies beyond the page's width, each as
 * tag#id.class: on a phone, anything listed runs off the screen (or off the blue header, where
 * white text then stands on white). Measured after the next animation frame, the one in which the
 * header rearranges its navigation after a resize.
 */
export async function widerThanThePage(page: Page, selector: string): Promise<string[]> {
  return page.evaluate(async (selector) => {
    // The test's TypeScript has no DOM library: the page's globals are typed here.
    const { requestAnimationFrame } = globalThis as unknown as {
      requestAnimationFrame(callback: () => void): number;
    };
    await new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    type Element = {
      getBoundingClientRect(): { right: number };
      tagName: string;
      id: string;
      className: string;
    };
    const { document } = globalThis as unknown as {
      document: {
        documentElement: { clientWidth: number };
        querySelectorAll(selector: string): Element[];
      };
    };
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll(selector)]
      .filter((element) => element.getBoundingClientRect().right > width + 1)
      .map((element) => `${element.tagName}#${element.id}.${element.className}`);
  }, selector);
}
