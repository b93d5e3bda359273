import { Suspense } from "react";
import type { Metadata } from "next";
import { Board } from "@/components/board/board";

// The root segment is not covered by the layout's title template.
export const metadata: Metadata = { title: { absolute: "Live board · Mission Control" } };

export default function BoardPage() {
  return (
    <Suspense fallback={<p className="p-6 text-sm text-zinc-500">Loading…</p>}>
      <Board />
    </Suspense>
  );
}
