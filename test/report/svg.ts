/**
 * Reading the SVG vega renders: each mark is a `<g class="mark-<type> role-mark <name>_marks">`
 * whose items (path, line, text) are its direct children, so a mark's items are the elements
 * between its opening tag and the first `</g>`. A line mark gets one such group per series.
 */
export interface MarkGroup {
  type: string;
  name: string;
  /** The item elements, as their opening tags. */
  items: string[];
}

export function markGroups(svg: string): MarkGroup[] {
  const groups: MarkGroup[] = [];
  const open = /<g class="mark-(\w+) role-mark ([\w ]*?)"[^>]*>/g;
  for (let m = open.exec(svg); m; m = open.exec(svg)) {
    // An empty mark is a self-closing <g .../>.
    const end = m[0].endsWith('/>') ? open.lastIndex : svg.indexOf('</g>', open.lastIndex);
    const body = svg.slice(open.lastIndex, end);
    groups.push({
      type: m[1],
      name: m[2].replace(/ ?marks$/, '').replace(/_$/, ''),
      items: body.match(/<(path|line|text|rect|circle)\b[^>]*>/g) ?? [],
    });
  }
  return groups;
}

/** Groups of the mark named `name` (the layer's name in the spec). */
export function mark(svg: string, name: string): MarkGroup[] {
  return markGroups(svg).filter((g) => g.name === name);
}

/** All items of the mark named `name`, over its groups. */
export function items(svg: string, name: string): string[] {
  return mark(svg, name).flatMap((g) => g.items);
}

export function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

/** The texts of the legend's labels. */
export function legendLabels(svg: string): string[] {
  const labels: string[] = [];
  const re = /<g class="mark-text role-legend-label"[^>]*>([\s\S]*?)<\/g>/g;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    for (const t of m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)) labels.push(t[1]);
  }
  return labels;
}
