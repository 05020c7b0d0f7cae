/* Record payment for a user: fill the allocation inputs oldest due first from the amount received (until one is
   typed by hand, or on "Allocate oldest first") and show what is kept as customer credit. Amounts are counted in
   integer minor units (cents), never in binary floating point. Without this script the server allocates oldest
   due first when every input is blank. */
(function () {
  "use strict";

  /* "1,234.5" -> 123450 for 2 decimals; null when it is not an amount of the currency. */
  function toMinor(text, decimals) {
    var value = String(text || "").trim().replace(/,/g, "");
    var match = /^(\d*)(?:\.(\d*))?$/.exec(value);
    if (!value || !match || (match[1] === "" && !match[2])) return null;
    var fraction = match[2] || "";
    if (fraction.length > decimals) {
      if (/[^0]/.test(fraction.slice(decimals))) return null;
      fraction = fraction.slice(0, decimals);
    }
    while (fraction.length < decimals) fraction += "0";
    return Number(match[1] || "0") * Math.pow(10, decimals) + Number(fraction || "0");
  }

  /* 123450 -> "1234.50" (what an input takes). */
  function plain(minor, decimals) {
    var digits = String(Math.abs(minor));
    while (digits.length <= decimals) digits = "0" + digits;
    var whole = decimals ? digits.slice(0, -decimals) : digits;
    return (minor < 0 ? "-" : "") + whole + (decimals ? "." + digits.slice(-decimals) : "");
  }

  /* 123450 -> "$1,234.50", in the shape of the page's formatted zero ("$0.00"). */
  function shown(minor, decimals, zero) {
    var text = plain(Math.abs(minor), decimals);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var zeroNumber = decimals ? "0." + "0".repeat(decimals) : "0";
    var body = zero.indexOf(zeroNumber) >= 0 ? zero.replace(zeroNumber, parts.join(".")) : parts.join(".");
    return (minor < 0 ? "-" : "") + body;
  }

  function init(form) {
    if (form.dataset.allocationBound) return;
    form.dataset.allocationBound = "1";
    var decimals = Number(form.dataset.decimals || "2");
    var zero = form.dataset.zero || "0";
    var amount = form.querySelector("input[name=amount]");
    var remainder = form.querySelector("[data-remainder]");
    var button = form.querySelector("[data-allocate-oldest]");
    var rows = Array.prototype.slice.call(form.querySelectorAll("[data-allocation-row]")).map(function (row) {
      return { input: row.querySelector("input"), balance: toMinor(row.dataset.balance, decimals) || 0 };
    });
    var typed = rows.some(function (row) { return row.input.value.trim() !== ""; });

    function update() {
      var total = toMinor(amount.value, decimals);
      var allocated = 0;
      var valid = total !== null;
      rows.forEach(function (row) {
        if (row.input.value.trim() === "") return;
        var value = toMinor(row.input.value, decimals);
        if (value === null) valid = false;
        else allocated += value;
      });
      remainder.classList.remove("text-danger");
      if (!valid) {
        remainder.textContent = "—";
      } else if (allocated > total) {
        remainder.textContent = "Over-allocated by " + shown(allocated - total, decimals, zero);
        remainder.classList.add("text-danger");
      } else {
        remainder.textContent = shown(total - allocated, decimals, zero);
      }
    }

    function oldestFirst() {
      var left = toMinor(amount.value, decimals);
      if (left === null) return;
      rows.forEach(function (row) {
        var take = Math.min(left, row.balance);
        row.input.value = take > 0 ? plain(take, decimals) : "";
        left -= Math.max(take, 0);
      });
      update();
    }

    amount.addEventListener("input", function () { if (!typed) oldestFirst(); else update(); });
    rows.forEach(function (row) {
      row.input.addEventListener("input", function () { typed = true; update(); });
    });
    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () { typed = false; oldestFirst(); });
    }
    update();
  }

  function initAll(root) {
    root.querySelectorAll("form[data-allocation]").forEach(init);
  }

  document.addEventListener("DOMContentLoaded", function () {
    initAll(document);
    if (typeof htmx !== "undefined") htmx.onLoad(function (element) { initAll(element); });
  });
})();
