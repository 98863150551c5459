# The Novacore seed's Python client (novacore-realtime.txt, "Python Example"), as its users write it. Only BASE_URL,
# site_id and token come from outside. Usage: python3 -u novacore_client.py <base-url> <site-id>
# It prints one line per reading until it is stopped, as the seed's does.
import sys

site_id = sys.argv[2]
token = "unused-on-a-loopback-hub"

# --- the seed's client, verbatim but for BASE_URL ---
import json
import sseclient
import requests
BASE_URL = sys.argv[1]
response = requests.get(
    f"{BASE_URL}/stream/sites/{site_id}",
    headers={"Authorization": f"Bearer {token}"},
    stream=True,
)
client = sseclient.SSEClient(response)
for event in client.events():
    reading = json.loads(event.data)
    der_type = reading.get("type", "unknown")
    power = reading.get("W", "N/A")
    print(f"[{der_type}] Power: {power}W")
