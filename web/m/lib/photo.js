// Photos shrunk on the phone before they are queued: the longest side at most 1600 px, JPEG
// quality stepped down until the file is at most about 1 MB (a street photo is usually ~300 KB).

export const LONGEST_PX = 1600;
export const MAX_BYTES = 1_000_000;
const QUALITIES = [0.85, 0.75, 0.65, 0.55, 0.45, 0.35];

function encode(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the photo could not be encoded"))), "image/jpeg", quality);
  });
}

/** A JPEG Blob of the image file, shrunk to fit LONGEST_PX and maxBytes (default MAX_BYTES). */
export async function shrink(file, maxBytes = MAX_BYTES) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  let scale = Math.min(1, LONGEST_PX / Math.max(bitmap.width, bitmap.height));
  for (;;) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const q of QUALITIES) {
      const blob = await encode(canvas, q);
      if (blob.size <= maxBytes) { bitmap.close(); return blob; }
    }
    // Still too large at the lowest quality (a very detailed picture): fewer pixels.
    scale *= 0.75;
  }
}
