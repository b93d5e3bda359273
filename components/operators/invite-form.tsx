"use client";

import { useState, type FormEvent } from "react";
import { useMutation } from "@tanstack/react-query";
import { errorMessage, useTRPC } from "../providers";
import { ROLE_OPTIONS, type RoleValue } from "./shared";
import { LIMITS } from "@/lib/contract/schemas";

export function InviteForm({ onCancel, onDone }: { onCancel(): void; onDone(r: { email: string; role: string; initialPassword?: string }): void }) {
  const trpc = useTRPC();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<RoleValue>("viewer");
  const [password, setPassword] = useState("");
  const create = useMutation(trpc.operators.create.mutationOptions({ onSuccess: (r) => onDone(r) }));

  function submit(e: FormEvent) {
    e.preventDefault();
    create.mutate({ email: email.trim(), name: name.trim() || undefined, role, password: password || undefined });
  }

  return (
    <form onSubmit={submit} className="flex flex-col gap-3 rounded-md border border-zinc-200 p-3 dark:border-zinc-800" aria-label="Invite operator" data-testid="invite-form">
      <div className="grid gap-3 sm:grid-cols-2">
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Email</span>
          <input className="input" type="email" name="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Name (optional)</span>
          <input className="input" name="name" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Role</span>
          <select className="input" name="role" value={role} onChange={(e) => setRole(e.target.value as RoleValue)}>
            {ROLE_OPTIONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          <span className="font-medium">Password (optional)</span>
          <input
            className="input"
            type="password"
            name="new-password"
            autoComplete="new-password"
            minLength={LIMITS.password.min}
            maxLength={LIMITS.password.max}
            placeholder="leave empty to generate one"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
      </div>
      {create.isError ? (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          {errorMessage(create.error)}
        </p>
      ) : null}
      <div className="flex gap-2">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? "Inviting…" : "Invite"}
        </button>
        <button type="button" className="btn" onClick={onCancel} disabled={create.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
