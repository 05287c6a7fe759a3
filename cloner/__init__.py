"""voiceguard's generating side: TTS, WORLD analysis, enrollment, conversion, the clone pipeline."""
