import type { Metadata } from "next";
import { TokensView } from "@/components/operators/tokens-view";

export const metadata: Metadata = { title: "API tokens" };

export default function TokensPage() {
  return <TokensView />;
}
