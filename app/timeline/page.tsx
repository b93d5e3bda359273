import { Suspense } from "react";
import type { Metadata } from "next";
import { FleetTimelineView } from "@/components/timeline/fleet-timeline";

export const metadata: Metadata = { title: "Fleet timeline" };

export default function TimelinePage() {
  return (
    <Suspense fallback={<p className="p-6 text-sm text-zinc-500">Loading…</p>}>
      <FleetTimelineView />
    </Suspense>
  );
}
