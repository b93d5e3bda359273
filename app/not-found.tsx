import Link from "next/link";

export const metadata = { title: "Not found" };

export default function NotFound() {
  return (
    <div className="mx-auto max-w-lg p-8 text-sm">
      <h1 className="text-lg font-semibold">Not found</h1>
      <p className="mt-2 text-zinc-600 dark:text-zinc-400">This page does not exist.</p>
      <Link href="/" className="mt-4 inline-block text-sky-700 underline dark:text-sky-400">
        Back to the board
      </Link>
    </div>
  );
}
