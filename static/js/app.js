/* Progressive enhancements of the server-rendered pages: date-range pickers (flatpickr), the dashboard chart
   (Chart.js), dialogs that reopen on a form error, "select all" boxes. Every page works without them. */
(function () {
  "use strict";

  function formatDate(date) {
    var m = String(date.getMonth() + 1).padStart(2, "0");
    var d = String(date.getDate()).padStart(2, "0");
    return date.getFullYear() + "-" + m + "-" + d;
  }

  /* <div data-date-range="picker-id" data-label="..."> with two native inputs [data-range-from] [data-range-to]
     inside .range-native: one range picker replaces them; the native inputs keep the submitted values. */
  function initRanges(root) {
    if (typeof flatpickr === "undefined") return;
    root.querySelectorAll("[data-date-range]").forEach(function (group) {
      if (group.dataset.enhanced) return;
      group.dataset.enhanced = "1";
      var from = group.querySelector("[data-range-from]");
      var to = group.querySelector("[data-range-to]");
      var native = group.querySelector(".range-native");
      var input = document.createElement("input");
      input.type = "text";
      input.id = group.dataset.dateRange;
      input.className = "form-control" + (group.dataset.small ? " form-control-sm" : "");
      input.placeholder = "YYYY-MM-DD to YYYY-MM-DD";
      input.autocomplete = "off";
      if (from.classList.contains("is-invalid") || to.classList.contains("is-invalid")) input.classList.add("is-invalid");
      native.classList.remove("d-flex");
      native.classList.add("d-none");
      native.after(input);
      var sync = function (dates) {
        var first = dates[0] ? formatDate(dates[0]) : "";
        var last = dates[1] ? formatDate(dates[1]) : first;
        var changed = from.value !== first || to.value !== last;
        from.value = first;
        to.value = last;
        if (changed) from.dispatchEvent(new Event("change", { bubbles: true }));
      };
      flatpickr(input, {
        mode: "range",
        dateFormat: "Y-m-d",
        allowInput: true,
        defaultDate: [from.value, to.value].filter(Boolean),
        onChange: function (dates) { if (dates.length !== 1) sync(dates); },
        onClose: function (dates) { sync(dates); },
      });
      input.addEventListener("change", function () {
        if (!input.value.trim()) sync([]);
      });
    });
  }

  function initChart(root) {
    var canvas = root.querySelector("#invoiced-received-chart");
    var source = document.getElementById("chart-data");
    if (!canvas || !source || typeof Chart === "undefined" || canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    var data = JSON.parse(source.textContent);
    /* Ticks in the amounts' currency ("$1,500"); a currency the browser does not know keeps its ISO code. */
    var axisMoney = function (value) {
      try {
        return new Intl.NumberFormat("en-US", { style: "currency", currency: data.currency, maximumFractionDigits: 0 }).format(value);
      } catch (error) {
        return data.currency + " " + value;
      }
    };
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Invoiced", data: data.invoiced.map(Number), backgroundColor: "#0d6efd" },
          { label: "Received", data: data.received.map(Number), backgroundColor: "#198754" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var texts = ctx.datasetIndex === 0 ? data.invoiced_text : data.received_text;
                return ctx.dataset.label + ": " + texts[ctx.dataIndex];
              },
            },
          },
        },
        scales: {
          y: {
            beginAtZero: true,
            title: { display: true, text: data.axis_title },
            ticks: { callback: function (value) { return axisMoney(value); } },
          },
        },
      },
    });
  }

  /* A dialog whose fields came back with errors opens again so the errors are seen at their fields. */
  function reopenDialogs(root) {
    if (typeof bootstrap === "undefined") return;
    root.querySelectorAll(".modal[data-open-on-load]").forEach(function (el) {
      bootstrap.Modal.getOrCreateInstance(el).show();
    });
  }

  function initSelectAll(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      box.addEventListener("change", function () {
        document.querySelectorAll(box.dataset.selectAll).forEach(function (other) { other.checked = box.checked; });
      });
    });
  }

  /* Schedule form: the "every N days" field only for that interval, the end date only without "never expire". */
  function initScheduleForm(root) {
    var interval = root.querySelector("#id_interval");
    var every = root.querySelector("[data-field=every_n_days]");
    var never = root.querySelector("#id_never_expire");
    var end = root.querySelector("#id_end_date");
    if (interval && every) {
      var toggleEvery = function () { every.hidden = interval.value !== "every_n_days"; };
      interval.addEventListener("change", toggleEvery);
      toggleEvery();
    }
    if (never && end) {
      var toggleEnd = function () { end.disabled = never.checked; };
      never.addEventListener("change", toggleEnd);
      toggleEnd();
    }
  }

  /* Progress bars: their width comes from data-progress (a percentage). Set through the DOM, not a style attribute,
     which the Content-Security-Policy refuses. */
  function initProgress(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, Number(bar.dataset.progress) || 0)) + "%";
    });
  }

  function init(root) {
    initProgress(root);
    initRanges(root);
    initChart(root);
    initSelectAll(root);
    initScheduleForm(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    reopenDialogs(document);
    if (typeof htmx !== "undefined") {
      htmx.onLoad(function (element) { if (element !== document.body) init(element); });
    }
  });

  /* Radio buttons and selects marked data-autosubmit submit their (GET) form when changed. */
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.dataset && el.dataset.autosubmit !== undefined && el.form) el.form.requestSubmit();
  });
})();

/* Forms marked data-confirm ask before they submit (deleting a draft, revoking a token). */
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
