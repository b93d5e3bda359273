import type { Metadata } from "next";
import { GatewayList } from "@/components/gateways/gateway-list";

export const metadata: Metadata = { title: "Gateways" };

export default function GatewaysPage() {
  return <GatewayList />;
}
