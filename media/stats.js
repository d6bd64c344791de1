// dLLM decoding stats webview. Renders the snapshot the extension posts ({type:'state'}); builds DOM with
// textContent only (model text never becomes HTML). No libraries, no network: the chart is hand-drawn SVG.
// @ts-check
(function () {
  'use strict';
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const RULES = ['threshold', 'confidence-cluster', 'token-cluster', 'temporal', 'dynamic-threshold', 'factor',
    'llada-topk', 'fallback-best', 'early-exit'];
  const RULE_LABELS = {
    threshold: 'threshold τ', 'confidence-cluster': 'confidence cluster', 'token-cluster': 'token cluster',
    temporal: 'temporal', 'dynamic-threshold': 'dynamic threshold', factor: 'factor', 'llada-topk': 'llada top-k',
    'fallback-best': 'fallback (best)', 'early-exit': 'early exit',
  };

  const saved = vscode.getState() || {};
  /** @type {{ colorBy: 'rule' | 'step', selectedId: string | null }} */
  const ui = { colorBy: saved.colorBy === 'step' ? 'step' : 'rule', selectedId: null };
  /** @type {any} */
  let snapshot = null;

  /** @param {string} tag @param {Record<string, any>} [props] @param {(Node | string | null | undefined)[]} [children] */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'text') node.textContent = String(v);
      else if (k === 'class') node.className = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
    for (const c of children || []) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  /** @param {string} tag @param {Record<string, any>} attrs */
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  const fmt = (/** @type {number} */ n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  const pct = (/** @type {number | undefined} */ n) => (n === undefined || n === null ? '—' : `${fmt(n, 1)} %`);

  /** A labelled number; `id` lets tests find it. */
  function card(id, label, value, detail, good) {
    return el('div', { class: `card${good ? ' good' : ''}` }, [
      el('div', { class: 'label', text: label }),
      el('div', { class: 'value', id, 'data-metric': id, text: value }),
      detail ? el('div', { class: 'detail', text: detail }) : null,
    ]);
  }

  function engineLine(s) {
    const e = s.engine;
    const parts = [];
    if (e && e.modelName) {
      const facts = [e.modelFamily, e.modelPrecision].filter(Boolean).join(', ');
      parts.push(`model ${e.modelName}${facts ? ` (${facts})` : ''}`);
    }
    if (e && e.executionProvider) parts.push(`on ${e.executionProvider}`);
    if (e && e.state) parts.push(e.state);
    if (s.last) parts.push(`policy ${s.last.policy}, ${s.last.cache} cache`);
    return parts.length ? parts.join(' · ') : 'The engine starts on the first request.';
  }

  function requestCards(r, measuring) {
    const fastDetail = r.fastDllmSteps !== undefined
      ? `fast-dllm needs ${r.fastDllmSteps} steps`
      : measuring ? 'measuring in the background…' : 'measured while this panel is open';
    return el('div', { class: 'cards' }, [
      card('last-steps', 'Steps used', String(r.steps), `${r.tokens} token${r.tokens === 1 ? '' : 's'} of ${r.canvasLength} masked positions`),
      card('last-saved-llada', 'Steps saved vs llada', pct(r.savedVsLladaPct), `llada needs ${r.lladaSteps} steps`, r.savedVsLladaPct > 0),
      r.fillAll ? null : card('last-saved-fast', 'Steps saved vs fast-dllm', pct(r.savedVsFastDllmPct), fastDetail,
        r.savedVsFastDllmPct !== undefined && r.savedVsFastDllmPct > 0),
      card('last-tokens-per-step', 'Tokens per step', fmt(r.tokensPerStep, 2)),
      card('last-ms', 'Time', `${fmt(r.ms)} ms`, `first commit after ${fmt(r.timeToFirstCommitMs)} ms`),
    ]);
  }

  function stepColorFraction(step, maxStep) {
    return maxStep <= 1 ? 0 : (step - 1) / (maxStep - 1);
  }

  function tokenMap(r, id = 'token-map', title = 'Token map') {
    const maxStep = Math.max(1, ...r.tokenMap.map((t) => t.step));
    const tokens = el('div', { class: 'tokens', id });
    if (r.tokenMap.length === 0) tokens.append(el('span', { class: 'muted', text: '(no tokens)' }));
    for (const t of r.tokenMap) {
      const pad = t.text === ''; // a position decided as end of the answer (padding)
      const visible = pad ? '∅' : t.text.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·');
      const span = el('span', {
        class: `${ui.colorBy === 'rule' ? `tok rule-${t.rule}` : 'tok by-step'}${pad ? ' pad' : ''}`,
        title: `${pad ? 'end of the answer (padding)' : JSON.stringify(t.text)} · step ${t.step} · ${RULE_LABELS[t.rule] || t.rule} · p = ${fmt(t.confidence, 3)}`,
        text: visible,
      });
      if (ui.colorBy === 'step') span.style.setProperty('--t', String(stepColorFraction(t.step, maxStep)));
      tokens.append(span);
      if (t.text.includes('\n')) tokens.append(el('br'));
    }
    const usedRules = RULES.filter((rule) => r.tokenMap.some((t) => t.rule === rule));
    const legend = ui.colorBy === 'rule'
      ? el('div', { class: 'legend' }, usedRules.map((rule) => el('span', { class: `tok rule-${rule}`, text: RULE_LABELS[rule] })))
      : el('div', { class: 'legend' }, [
        el('span', { class: 'tok by-step first', text: 'step 1' }), ' → ', el('span', { class: 'tok by-step lastc', text: `step ${maxStep}` }),
      ]);
    const toggle = el('div', { class: 'toggle' }, ['Colour by ',
      el('button', { class: ui.colorBy === 'rule' ? 'on' : '', text: 'rule', onclick: () => { ui.colorBy = 'rule'; persist(); render(); } }),
      el('button', { class: ui.colorBy === 'step' ? 'on' : '', text: 'step', onclick: () => { ui.colorBy = 'step'; persist(); render(); } }),
    ]);
    return el('section', {}, [el('h3', { text: title }), toggle, tokens, legend]);
  }

  /** Fill All: the joint decode against filling the regions one after another, and each region's token map. */
  function fillAllSection(r, measuring) {
    const f = r.fillAll;
    const seq = f.sequentialSteps;
    const saved = seq !== undefined && seq > 0 ? 100 * (1 - r.steps / seq) : undefined;
    const seqDetail = seq !== undefined ? `one after another: ${seq} steps, ${fmt(f.sequentialMs)} ms`
      : measuring ? 'measuring in the background…' : 'measured while this panel is open';
    const cards = el('div', { class: 'cards' }, [
      card('fill-all-regions', 'Regions', String(f.regions.length), `${f.groups} joint decode${f.groups === 1 ? '' : 's'}, ${f.fullPasses} full passes`),
      card('fill-all-steps', 'Joint steps', String(r.steps), `${fmt(r.tokensPerStep, 2)} tokens per step`),
      card('fill-all-saved-sequential', 'Steps saved vs one by one', pct(saved), seqDetail, saved !== undefined && saved > 0),
    ]);
    const maps = f.regions.map((region, i) => tokenMap(region, `token-map-region-${i + 1}`,
      `Region ${i + 1}: ${region.steps} steps, done after step ${region.doneAtStep}`));
    return el('section', { id: 'fill-all' }, [el('h3', { text: `Fill All: ${f.regions.length} regions decoded together` }), cards, ...maps]);
  }

  function commitsChart(r) {
    const data = r.commitsPerStep;
    const section = el('section', {}, [el('h3', { text: `Commits per step (${data.length} steps)` })]);
    if (data.length === 0) {
      section.append(el('p', { class: 'muted', text: 'No steps.' }));
      return section;
    }
    const max = Math.max(1, ...data);
    const barW = 14;
    const gap = 3;
    const h = 120;
    const left = 28;
    const bottom = 18;
    const width = left + data.length * (barW + gap) + 4;
    const chart = svg('svg', { id: 'commits-chart', viewBox: `0 0 ${width} ${h + bottom}`, width: Math.min(width, 900), height: h + bottom, role: 'img' });
    chart.append(svg('line', { x1: left - 2, y1: h, x2: width, y2: h, class: 'axis' }));
    for (const y of [max, Math.round(max / 2)]) {
      const yy = h - (y / max) * (h - 8);
      const label = svg('text', { x: left - 6, y: yy + 4, class: 'tick', 'text-anchor': 'end' });
      label.textContent = String(y);
      chart.append(label, svg('line', { x1: left - 2, y1: yy, x2: width, y2: yy, class: 'grid' }));
    }
    const every = Math.max(1, Math.ceil(data.length / 20));
    data.forEach((n, i) => {
      const bh = (n / max) * (h - 8);
      const x = left + i * (barW + gap);
      const bar = svg('rect', { x, y: h - bh, width: barW, height: Math.max(bh, n > 0 ? 1 : 0), class: 'bar' });
      const title = svg('title', {});
      title.textContent = `step ${i + 1}: ${n} token${n === 1 ? '' : 's'} committed`;
      bar.append(title);
      chart.append(bar);
      if (i % every === 0 || i === data.length - 1) {
        const t = svg('text', { x: x + barW / 2, y: h + 13, class: 'tick', 'text-anchor': 'middle' });
        t.textContent = String(i + 1);
        chart.append(t);
      }
    });
    section.append(el('div', { class: 'chart' }, [chart]));
    return section;
  }

  function sessionSection(s) {
    const t = s.session;
    const finished = t.requests - t.cancelled;
    const rules = Object.entries(t.ruleCounts).sort((a, b) => b[1] - a[1]);
    const total = rules.reduce((n, [, c]) => n + c, 0);
    return el('section', { id: 'session' }, [
      el('h2', { text: 'This session' }),
      el('div', { class: 'cards' }, [
        card('session-requests', 'Requests', String(finished), `${t.inline} inline, ${t.fill} fill, ${t.cancelled} cancelled`),
        card('session-saved-llada', 'Steps saved vs llada', pct(t.savedVsLladaPct), `${t.steps} steps instead of ${t.lladaSteps}`, t.savedVsLladaPct > 0),
        card('session-saved-fast', 'Steps saved vs fast-dllm', pct(t.savedVsFastDllmPct),
          t.fastDllmMeasured ? `over ${t.fastDllmMeasured} measured request${t.fastDllmMeasured === 1 ? '' : 's'}` : 'not measured yet'),
        card('session-tokens-per-step', 'Tokens per step', fmt(t.tokensPerStep, 2), `${t.tokens} tokens`),
        card('session-ms', 'Mean time', `${fmt(t.meanMs)} ms`),
      ]),
      total > 0 ? el('div', { class: 'rulebar', title: 'Which rule committed the tokens' },
        rules.map(([rule, c]) => {
          const seg = el('span', { class: `seg rule-${rule}`, title: `${RULE_LABELS[rule] || rule}: ${c} (${fmt((100 * c) / total, 1)} %)` });
          seg.style.setProperty('--share', String(c / total));
          return seg;
        })) : null,
    ]);
  }

  function historySection(s, shown) {
    const rows = s.history.map((r) => el('tr', {
      class: `${r.cancelled ? 'cancelled' : ''}${shown && r.id === shown.id ? ' selected' : ''}`,
      title: r.cancelled ? 'cancelled' : 'Show this request above',
      onclick: () => { if (!r.cancelled) { ui.selectedId = r.id; render(); } },
    }, [
      el('td', { text: new Date(r.at).toLocaleTimeString() }),
      el('td', { text: r.kind }),
      el('td', { text: r.file }),
      el('td', { class: 'num', text: String(r.tokens) }),
      el('td', { class: 'num', text: String(r.steps) }),
      el('td', { class: 'num', text: r.cancelled ? '—' : pct(r.savedVsLladaPct) }),
      el('td', { class: 'num', text: r.cancelled ? '—' : pct(r.savedVsFastDllmPct) }),
      el('td', { class: 'num', text: fmt(r.ms) }),
      el('td', { class: 'snippet', text: r.cancelled ? '(cancelled)' : r.completion.replace(/\n/g, '⏎').slice(0, 60) }),
    ]));
    return el('section', { id: 'history' }, [
      el('h2', { text: 'Recent requests' }),
      el('table', {}, [
        el('thead', {}, [el('tr', {}, ['time', 'kind', 'file', 'tokens', 'steps', 'saved vs llada', 'vs fast-dllm', 'ms', 'text']
          .map((h) => el('th', { text: h })))]),
        el('tbody', {}, rows),
      ]),
      el('div', { class: 'actions' }, [
        el('button', { id: 'clear', text: 'Reset session stats', onclick: () => vscode.postMessage({ type: 'clear' }) }),
        el('button', { text: 'Decoding settings…', onclick: () => vscode.postMessage({ type: 'openSettings' }) }),
      ]),
    ]);
  }

  function render() {
    const app = document.getElementById('app');
    const engine = document.getElementById('engine');
    if (!app || !engine || !snapshot) return;
    engine.textContent = engineLine(snapshot);
    const shown = snapshot.history.find((r) => r.id === ui.selectedId && !r.cancelled) || snapshot.last;
    const children = [];
    if (!shown) {
      children.push(el('p', { id: 'empty', class: 'muted', text: snapshot.history.length
        ? 'Only cancelled requests so far (the user kept typing). Numbers appear after the first finished one.'
        : 'Nothing decoded yet in this session. Type in a file to get an inline completion, or run “dLLM: Fill Block” on a placeholder.' }));
    } else {
      const isLast = snapshot.last && shown.id === snapshot.last.id;
      children.push(el('section', { id: 'last' }, [
        el('h2', { text: `${isLast ? 'Last request' : 'Selected request'}: ${shown.fillAll ? 'fill all' : shown.kind === 'fill' ? 'fill block' : 'inline completion'} in ${shown.file}` }),
        el('p', { class: 'muted', text: `${new Date(shown.at).toLocaleTimeString()} · ${shown.languageId} · ${shown.policy} · stopped: ${shown.stopReason}` }),
        ...(shown.heldBackReason
          ? [el('p', { id: 'held-back', class: 'warning', text: `Held back, not shown: ${shown.heldBackReason}. dLLM: Trigger Completion shows it.` })]
          : shown.confidence !== undefined ? [el('p', { id: 'confidence', class: 'muted', text: `Confidence ${fmt(shown.confidence, 2)} (shown)` })] : []),
        requestCards(shown, snapshot.measuringBaselines),
        shown.fillAll ? fillAllSection(shown, snapshot.measuringBaselines) : tokenMap(shown),
        commitsChart(shown),
      ]));
    }
    children.push(sessionSection(snapshot));
    if (snapshot.history.length) children.push(historySection(snapshot, shown));
    app.replaceChildren(...children);
    const fillAll = shown && shown.fillAll;
    vscode.postMessage({
      type: 'rendered', requests: snapshot.session.requests, lastId: shown ? shown.id : null, lastSteps: shown ? shown.steps : null,
      ...(fillAll ? {
        fillAllRegions: document.querySelectorAll('[id^="token-map-region-"]').length,
        sequentialSteps: fillAll.sequentialSteps === undefined ? null : fillAll.sequentialSteps,
      } : {}),
    });
  }

  function persist() {
    vscode.setState({ colorBy: ui.colorBy });
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || m.type !== 'state' || typeof m.snapshot !== 'object') return;
    snapshot = m.snapshot;
    if (ui.selectedId && !snapshot.history.some((r) => r.id === ui.selectedId)) ui.selectedId = null;
    render();
  });
  vscode.postMessage({ type: 'ready' });
})();
