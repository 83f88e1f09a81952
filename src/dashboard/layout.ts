import { html, type SafeHtml } from './html.js';

export const ASSET_CSS = '/static/dashboard.css';
export const ASSET_JS = '/static/live.js';

/** A whole page: our header and navigation, our style sheet and (for live pages) our one script. */
export function page(title: string, body: SafeHtml, o: { live?: string } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · braze-import</title>
<link rel="stylesheet" href="${ASSET_CSS}">
${o.live ? html`<script defer src="${ASSET_JS}"></script>` : ''}
</head>
<body>
<header><strong>braze-import</strong><nav><a href="/">Runs</a><a href="/queues">Queues</a><a href="/metrics">Metrics</a></nav></header>
<main${o.live ? html` data-live="${o.live}"` : ''}>
${body}
</main>
</body>
</html>
`.text;
}
