// The monthly chart of the dashboard (Chart.js, served by the app).
(function () {
  'use strict';
  const canvas = document.getElementById('monthly');
  const data = JSON.parse(document.getElementById('monthly-data').textContent);
  new Chart(canvas, {
    type: 'bar',
    data: {
      labels: data.map(function (m) { return m.month; }),
      datasets: [
        {label: '上报', data: data.map(function (m) { return m.reported; }),
         backgroundColor: '#e57373'},
        {label: '结案', data: data.map(function (m) { return m.closed; }),
         backgroundColor: '#66bb6a'},
      ],
    },
    options: {animation: false, responsive: true, scales: {y: {beginAtZero: true}}},
  });
})();
