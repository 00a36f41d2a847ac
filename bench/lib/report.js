'use strict';
/** The results as a text table (printed) and a Markdown table (for the README). */

function fmt(x) {
  if (x === undefined || Number.isNaN(x)) return '';
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(0)}k`;
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** One row per measured figure and one per ratio or limit. */
function rows(report) {
  const out = [];
  for (const pair of report.pairs) {
    if (pair.error) {
      const first = pair.error.split('\n')[0];
      const message = first.length > 100 ? `${first.slice(0, 97)}...` : first;
      out.push([String(pair.id), `FAILED: ${message}`, '', '', '', '', '']);
      continue;
    }
    for (const [name, m] of Object.entries(pair.metrics)) {
      out.push([
        String(pair.id),
        name,
        fmt(m.median),
        `${fmt(m.min)}–${fmt(m.max)}`,
        m.unit,
        '',
        '',
      ]);
    }
    for (const r of pair.ratios) {
      let result = '';
      if (r.pass !== undefined) result = r.pass ? 'PASS' : 'FAIL';
      if (r.pass !== undefined && !r.primary) result = `(${result.toLowerCase()})`;
      out.push([
        String(pair.id),
        `=> ${r.name}`,
        fmt(r.median),
        `${fmt(r.min)}–${fmt(r.max)}`,
        r.unit,
        r.target ?? '',
        result,
      ]);
    }
  }
  return out;
}

const HEAD = ['pair', 'measure', 'median', 'min–max', 'unit', 'target', 'result'];

function textTable(report) {
  const all = [HEAD, ...rows(report)];
  const widths = HEAD.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const right = new Set([2, 3]);
  const line = (r) =>
    r
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ');
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows(report).map(line)].join(
    '\n',
  );
}

function markdownTable(report) {
  const m = report.machine;
  const lines = [
    `${m.cpu}, ${m.cores} cores, node ${m.node}, ${m.platform}; ${report.date}; ${report.mode} mode, ` +
      `${report.repetitions} repetitions; load average ${report.loadAverageAtStart.join(' ')} at start; ` +
      `pariter at ${report.build.commit} (dist built ${report.build.distBuiltAt}).`,
    '',
    `| ${HEAD.join(' | ')} |`,
    `| ${HEAD.map((_, c) => (c === 2 || c === 3 ? '---:' : '---')).join(' | ')} |`,
  ];
  for (const r of rows(report))
    lines.push(`| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

module.exports = { fmt, textTable, markdownTable };
