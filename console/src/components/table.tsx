import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { shortId } from '../format';

/** A table's header row; the columns named in `numeric` are right-aligned, as their cells are. */
export function Head({ cols, numeric = [] }: { cols: string[]; numeric?: string[] }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th key={c} scope="col" class={numeric.includes(c) ? 'num' : undefined}>
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** The one row of an empty table, saying why it is empty. */
export function EmptyRow({ cols, children }: { cols: number; children: ComponentChildren }) {
  return (
    <tr>
      <td colSpan={cols} class="muted">
        {children}
      </td>
    </tr>
  );
}

/** A load's short id, linking to its page (the full id for screen readers). */
export function LoadLink({ id }: { id: string | null }) {
  if (!id) return <>—</>;
  return (
    <a href={`/console/loads/${id}`} aria-label={`load ${id}`} class="mono">
      {shortId(id)}
    </a>
  );
}

/** Keyset paging of one list: the cursors that led to this page; back to the first whenever `resetOn` changes. */
export function usePages(resetOn: unknown[]) {
  const [cursors, setCursors] = useState<string[]>([]);
  useEffect(() => setCursors([]), resetOn);
  return { cursor: cursors[cursors.length - 1] as string | undefined, cursors, setCursors };
}

export function Pager({ pages, next }: { pages: ReturnType<typeof usePages>; next: string | null | undefined }) {
  const { cursors, setCursors } = pages;
  return (
    <div class="pager">
      <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
        First page
      </button>
      <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
        Previous page
      </button>
      <button type="button" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
        Next page
      </button>
    </div>
  );
}
