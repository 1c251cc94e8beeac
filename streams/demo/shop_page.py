"""The storefront's one page: buttons that send analytics.js 2.0 calls, and the triggers.

A template (``string.Template``: ``$config``, the JSON the page needs: the collector's
``apiHost``, the write key, the customer id). Each button is what a shop's page would
send with analytics.js; the list below them is what the worker decided, read back from
the trigger topic by the storefront server (``/api/triggers/<customer>``, polled each
second). Nothing here reads the clock or Kafka: it is the browser's part.
"""

from __future__ import annotations

from string import Template

__all__ = ["PAGE"]

PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>journeys storefront</title>
<link rel="icon" href="data:,">
<style>
 body { font: 15px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222 }
 h1 { font-size: 1.4em } .who { color: #666 }
 button { font: inherit; margin: 0 .4em .4em 0; padding: .5em 1em; border-radius: .4em;
   border: 1px solid #888; background: #f4f4f4; cursor: pointer }
 button:hover { background: #e6eefc } #sent { color: #555; min-height: 1.4em }
 table { border-collapse: collapse; width: 100%; margin-top: .5em }
 td, th { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd }
 code { font-size: .85em; color: #555 } .hint { color: #666; font-size: .9em }
</style>
<script src="/sdk/analytics-next.js"></script>
</head><body>
<h1>journeys storefront</h1>
<p class="who">customer <b id="customer"></b> &middot; anonymous id <code id="anon"></code></p>
<p>
 <button id="visit">Visit the shop</button>
 <button id="signup">Sign up</button>
 <button id="use">Use a key feature</button>
 <button id="buy">Buy (250.00)</button>
 <button id="ticket">Open a support ticket</button>
 <button id="late">Report a failed delivery</button>
 <button id="cancel">Cancel the subscription</button>
</p>
<p class="hint">What the default journey (<code>lifecycle</code>) answers: sign up,
 <code>onboarding.welcome</code>; a key feature, <code>onboarding.activated</code>; four
 purchases (1,000.00 spent), <code>growth.vip</code>; three tickets within 14 days,
 <code>recovery.repeated_tickets</code>; a failed delivery,
 <code>recovery.failed_delivery</code>, and a second one, <code>recovery.churn_risk</code>
 too. A visit before signing up is merged into the customer; a cancellation alone
 triggers nothing.</p>
<p id="sent"></p>
<h2>Triggers for this customer <small id="count">(0)</small></h2>
<table><thead><tr><th>kind</th><th>rule</th><th>trigger id</th></tr></thead>
<tbody id="triggers"></tbody></table>
<script>
const CONFIG = $config;
const segmentIo = { apiHost: CONFIG.apiHost, protocol: 'http' };
const sdk = AnalyticsBrowser.load(
  { writeKey: CONFIG.writeKey,
    cdnSettings: { integrations: { 'Segment.io': { apiKey: CONFIG.writeKey, ...segmentIo } },
                   metrics: { sampleRate: 0 } } },
  { integrations: { 'Segment.io': segmentIo } });
window.sdk = sdk;
if (CONFIG.anonymousId) sdk.setAnonymousId(CONFIG.anonymousId);  // before any call: queued first
document.getElementById('customer').textContent = CONFIG.customer;
sdk.user().then(u => { document.getElementById('anon').textContent = u.anonymousId(); });
const sent = (what) => { document.getElementById('sent').textContent = 'sent: ' + what; };
const actions = {
  visit: () => sdk.page('Shop', 'Home'),
  signup: () => sdk.identify(CONFIG.customer, { plan: 'pro' })
    .then(() => sdk.track('Signed Up', { plan: 'pro' })),
  use: () => sdk.track('Key Action', { feature: 'wishlist' }),
  buy: () => sdk.track('Order Completed', { amount: 250, currency: 'EUR' }),
  ticket: () => sdk.track('Support Ticket Opened', { topic: 'sizing' }),
  late: () => sdk.track('Delivery Failed', { carrier: 'demo' }),
  cancel: () => sdk.track('Subscription Cancelled', { reason: 'price' }),
};
for (const [id, action] of Object.entries(actions)) {
  document.getElementById(id).addEventListener('click', () => {
    action(); sent(document.getElementById(id).textContent);
  });
}
async function refresh() {
  try {
    const r = await fetch('/api/triggers/' + encodeURIComponent(CONFIG.customer));
    const triggers = await r.json();
    const body = document.getElementById('triggers');
    body.replaceChildren(...triggers.map(t => {
      const row = document.createElement('tr');
      row.dataset.triggerId = t.trigger_id;
      for (const text of [t.kind, t.rule, t.trigger_id]) {
        const cell = document.createElement('td'); cell.textContent = text; row.append(cell);
      }
      return row;
    }));
    document.getElementById('count').textContent = '(' + triggers.length + ')';
  } catch (e) { /* the server restarts: try again */ }
}
setInterval(refresh, 1000); refresh();
</script>
</body></html>
""")
