/**
 * The header row of every list table: small muted labels, one padding for every cell but the last. A trailing actions
 * column has a label for screen readers only.
 */
export function TableHead({
  columns,
  actions = false,
  cell = "py-1 pr-3",
  className = "text-xs text-zinc-500 dark:text-zinc-400",
  rowClassName,
}: {
  columns: readonly string[];
  actions?: boolean;
  cell?: string;
  className?: string;
  rowClassName?: string;
}) {
  // The last column needs no gap after it.
  const last = cell.replace(/\s*\bpr-\d+\b/, "");
  return (
    <thead className={className}>
      <tr className={rowClassName}>
        {columns.map((label, i) => (
          <th key={`${i}:${label}`} className={`${!actions && i === columns.length - 1 ? last : cell} font-medium`}>
            {label}
          </th>
        ))}
        {actions ? (
          <th className={`${last} font-medium`}>
            <span className="sr-only">Actions</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}
