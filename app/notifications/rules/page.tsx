import type { Metadata } from "next";
import { RulesView } from "@/components/notifications/rules-view";

export const metadata: Metadata = { title: "Notification rules" };

export default function NotificationRulesPage() {
  return <RulesView />;
}
