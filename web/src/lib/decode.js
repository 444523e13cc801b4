// Reads an uploaded file as text: bytes -> (gunzip when .gz) -> UTF-8 (strict) or else
// Windows-1252, the two encodings retail exports come in.

function isGzip(name, bytes) {
  return /\.gz$/i.test(name || '') || (bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b);
}

export async function gunzip(bytes) {
  if (typeof DecompressionStream === 'undefined') {
    throw new Error('This browser cannot open .gz files. Unpack the file first and upload the .csv.');
  }
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function decodeText(bytes) {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'UTF-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'Windows-1252' };
  }
}

/** @returns {Promise<{text: string, encoding: string, size: number, compressed: boolean}>} */
export async function readCsvFile(file) {
  let bytes = new Uint8Array(await file.arrayBuffer());
  const compressed = isGzip(file.name, bytes);
  if (compressed) {
    try {
      bytes = await gunzip(bytes);
    } catch (err) {
      throw new Error(`The file looks compressed (.gz) but could not be unpacked: ${err.message}`);
    }
  }
  const { text, encoding } = decodeText(bytes);
  if (text.indexOf('\u0000') !== -1) {
    throw new Error('This does not look like a CSV text file (it contains binary data). If it is an Excel workbook, save it as "CSV" first.');
  }
  if (text.trim() === '') throw new Error('The file is empty.');
  return { text, encoding, size: bytes.length, compressed };
}
