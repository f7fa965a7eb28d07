/**
 * The dashboard's script, served at /dashboard/assets/dashboard.js: it draws the charts with
 * Chart.js from the report JSON the page embeds, and computes nothing of its own.
 */
export const DASHBOARD_SCRIPT = `(() => {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  const palette = ['#1d3557', '#e63946', '#2a9d8f', '#f4a261', '#457b9d', '#8338ec', '#6c757d', '#ffb703'];

  const steps = data.funnel.total.steps;
  new Chart(document.getElementById('funnel-chart'), {
    type: 'bar',
    data: {
      labels: steps.map((s) => s.label),
      datasets: [{ label: 'contacts', data: steps.map((s) => s.contacts), backgroundColor: palette.slice(0, steps.length) }],
    },
    options: {
      indexAxis: 'y',
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { afterLabel: (c) => { const p = steps[c.dataIndex].fromPreviousPercent; return p === null ? '' : p.toFixed(1) + '% of the step before'; } } },
      },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });

  const t = data.timeToLead;
  new Chart(document.getElementById('time-chart'), {
    type: 'bar',
    data: {
      labels: t.toLead.buckets.map((b) => b.label),
      datasets: [
        { label: 'to lead', data: t.toLead.buckets.map((b) => b.count), backgroundColor: palette[0] },
        { label: 'to first conversation', data: t.toConversation.buckets.map((b) => b.count), backgroundColor: palette[2] },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'contacts' } } } },
  });

  const edges = ['1 h', '36 h', '7 d', '30 d', '6 months', '18 months', 'ever'];
  new Chart(document.getElementById('cohort-chart'), {
    type: 'line',
    data: {
      labels: edges,
      datasets: t.cohorts.map((c, i) => ({
        label: 'week of ' + c.week + ' (' + c.optedIn + ')',
        data: c.cumulativePercent.map((p) => p.percent),
        borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length],
        tension: 0,
      })),
    },
    options: { scales: { y: { beginAtZero: true, suggestedMax: 100, title: { display: true, text: '% of the cohort who became leads' } } } },
  });
  document.body.dataset.charts = 'drawn';
})();
`;
