"use client";

import { useEffect, useState, type RefObject } from "react";

export interface ScrollViewport {
  top: number;
  height: number;
  width: number;
}

/**
 * The visible window of a scrolling element, measured at most once per animation frame: what a virtualised list needs
 * to render only its visible rows.
 */
export function useScrollViewport(ref: RefObject<HTMLElement | null>, initial: ScrollViewport): ScrollViewport {
  const [view, setView] = useState(initial);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      setView((v) =>
        v.top === el.scrollTop && v.height === el.clientHeight && v.width === el.clientWidth
          ? v
          : { top: el.scrollTop, height: el.clientHeight, width: el.clientWidth },
      );
    };
    const onScroll = () => {
      if (!frame) frame = requestAnimationFrame(measure);
    };
    measure();
    el.addEventListener("scroll", onScroll, { passive: true });
    const ro = new ResizeObserver(onScroll);
    ro.observe(el);
    return () => {
      el.removeEventListener("scroll", onScroll);
      ro.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [ref]);
  return view;
}
