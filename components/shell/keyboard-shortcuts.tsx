"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { NAV_LINKS } from "./nav-links";

function isTyping(target: EventTarget | null): boolean {
  const t = target as HTMLElement | null;
  return Boolean(t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)));
}

/**
 * Keyboard shortcuts: "/" focuses the page's search field, "g" then a letter goes to a page, "?" lists them.
 * Inputs, open dialogs and modifier keys are left alone.
 */
export function KeyboardShortcuts({ isAdmin }: { isAdmin: boolean }) {
  const router = useRouter();
  const [help, setHelp] = useState(false);
  const pendingG = useRef<number>(0);
  const dialogRef = useRef<HTMLDialogElement>(null);
  const links = NAV_LINKS.filter((l) => !l.adminOnly || isAdmin);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey || e.defaultPrevented) return;
      if (isTyping(e.target)) return;
      if (document.querySelector("dialog[open]:not([data-shortcuts-help])")) return;
      if (e.key === "/") {
        const search = document.querySelector<HTMLInputElement>("[data-shortcut-search]");
        if (search) {
          e.preventDefault();
          search.focus();
          search.select();
        }
        return;
      }
      if (e.key === "?") {
        e.preventDefault();
        setHelp((v) => !v);
        return;
      }
      if (pendingG.current && Date.now() - pendingG.current < 1200) {
        pendingG.current = 0;
        const link = links.find((l) => l.key === e.key.toLowerCase());
        if (link) {
          e.preventDefault();
          setHelp(false);
          router.push(link.href);
        }
        return;
      }
      if (e.key === "g") pendingG.current = Date.now();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [links, router]);

  useEffect(() => {
    const d = dialogRef.current;
    if (!d) return;
    if (help && !d.open) d.showModal();
    if (!help && d.open) d.close();
  }, [help]);

  return (
    <dialog
      ref={dialogRef}
      data-shortcuts-help
      aria-labelledby="shortcuts-title"
      onClose={() => setHelp(false)}
      className="m-auto w-[min(24rem,calc(100vw-2rem))] rounded-lg border border-zinc-200 bg-white p-4 text-sm text-zinc-900 shadow-xl dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
    >
      <h2 id="shortcuts-title" className="mb-3 text-base font-semibold">
        Keyboard shortcuts
      </h2>
      <dl className="grid grid-cols-[6rem_1fr] gap-y-1.5">
        <dt>
          <kbd className="kbd">/</kbd>
        </dt>
        <dd>Search on this page</dd>
        {links.map((l) => (
          <div key={l.href} className="contents">
            <dt>
              <kbd className="kbd">g</kbd> <kbd className="kbd">{l.key}</kbd>
            </dt>
            <dd>{l.label}</dd>
          </div>
        ))}
        <dt>
          <kbd className="kbd">?</kbd>
        </dt>
        <dd>This help</dd>
      </dl>
      <form method="dialog" className="mt-4 flex justify-end">
        <button className="btn" type="submit">
          Close
        </button>
      </form>
    </dialog>
  );
}
