import type { Metadata } from "next";
import { GatewayDetailView } from "@/components/gateways/gateway-detail";

export const metadata: Metadata = { title: "Gateway" };

export default async function GatewayPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <GatewayDetailView id={id} />;
}
