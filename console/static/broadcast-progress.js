// Keeps a broadcast page's progress bar and counts current by asking the server every few
// seconds (a file of its own: the console's Content-Security-Policy allows no inline script).
// Without JavaScript the page still shows the counts as they were when it was loaded.
const REFRESH_MS = 3000;
const root = document.getElementById("broadcast-progress");

function show(progress) {
  document.getElementById("progress-bar").value = progress.percent;
  document.getElementById("progress-bar").textContent = `${progress.percent}%`;
  document.getElementById("progress-percent").textContent = progress.percent;
  document.getElementById("progress-recipients").textContent = progress.recipients;
  for (const key of ["queued", "sent", "delivered", "failed", "held", "cancelled", "unknown"]) {
    document.getElementById(`count-${key}`).textContent = progress[key];
  }
  const status = progress.status.charAt(0).toUpperCase() + progress.status.slice(1);
  document.getElementById("broadcast-status").textContent = status;
  if (progress.finished) {
    // Said once, in the status region, so a screen reader hears the end and not each tick.
    document.getElementById("progress-note").textContent = "Finished.";
  }
}

async function refresh() {
  try {
    const response = await fetch(root.dataset.progressUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const progress = await response.json();
    show(progress);
    if (progress.finished) return;
  } catch {
    // A network hiccup: try again at the next tick.
  }
  setTimeout(refresh, REFRESH_MS);
}

if (root) setTimeout(refresh, REFRESH_MS);
