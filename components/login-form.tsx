"use client";

import { useSearchParams } from "next/navigation";
import { useState, type FormEvent } from "react";
import { safeNextPath } from "@/lib/safe-next";

export function LoginForm() {
  const params = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch("/api/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ email: email.trim(), password }),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => null)) as { error?: string } | null;
        const message =
          body?.error ??
          (res.status === 429 ? "Too many attempts; wait a moment and try again" : `Sign-in failed (HTTP ${res.status})`);
        setError(message);
        setBusy(false);
        return;
      }
      // A full navigation: the server checks the new session cookie, and the console starts with fresh caches.
      window.location.assign(safeNextPath(params.get("next"), window.location.origin));
    } catch {
      setError("Cannot reach Mission Control; check that the server is running");
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="card flex w-full max-w-sm flex-col gap-4 p-6 shadow-sm" aria-describedby={error ? "login-error" : undefined}>
      <div>
        <h1 className="flex items-center gap-2 text-lg font-semibold">
          <span aria-hidden className="inline-block size-3 rounded-sm bg-emerald-500" />
          Mission Control
        </h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">Sign in to operate the fleet.</p>
      </div>
      <label className="flex flex-col gap-1 text-sm">
        <span className="font-medium">Email</span>
        <input
          className="input"
          type="email"
          name="email"
          autoComplete="username"
          required
          autoFocus
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        <span className="font-medium">Password</span>
        <input
          className="input"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {error ? (
        <p id="login-error" role="alert" data-testid="login-error" className="rounded-md bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:bg-rose-950 dark:text-rose-200">
          {error}
        </p>
      ) : null}
      <button type="submit" className="btn btn-primary justify-center" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
