// Which rooms this tab listens to: several mounted views may show the same room, and the socket joins a room when the
// first view needs it and leaves when the last one is gone. Pure bookkeeping; components/live/connection.ts sends.
export class RoomRefs {
  private readonly counts = new Map<string, number>();

  /** Counts one more view of each room; returns the rooms nobody listened to before (to join). */
  acquire(rooms: readonly string[]): string[] {
    const added: string[] = [];
    for (const room of rooms) {
      const n = this.counts.get(room) ?? 0;
      this.counts.set(room, n + 1);
      if (n === 0) added.push(room);
    }
    return added;
  }

  /** Counts one view less of each room. */
  release(rooms: readonly string[]): void {
    for (const room of rooms) this.counts.set(room, (this.counts.get(room) ?? 1) - 1);
  }

  /** Of `rooms`, those no view needs any more (to leave); forgets them. */
  sweep(rooms: readonly string[]): string[] {
    const gone = rooms.filter((room) => (this.counts.get(room) ?? 0) <= 0);
    for (const room of gone) this.counts.delete(room);
    return gone;
  }

  active(): string[] {
    return [...this.counts.entries()].filter(([, n]) => n > 0).map(([room]) => room);
  }
}
