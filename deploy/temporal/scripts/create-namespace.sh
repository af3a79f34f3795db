#!/bin/sh
# One-shot (temporalio/admin-tools): waits for the server, creates the namespace if missing and
# registers the campaign search attributes that are missing. Safe to run again.
#   SEARCH_ATTRIBUTES="Name=Type Name=Type ..." (the workflow's list: workflows/search_attributes.py)
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=72h}"
: "${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES is required}"

echo "waiting for Temporal at ${TEMPORAL_ADDRESS}"
tries=0
until temporal operator cluster health --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal did not become healthy"; exit 1; }
  sleep 2
done

if temporal operator namespace describe --namespace "${NAMESPACE}" \
    --address "${TEMPORAL_ADDRESS}" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE} exists"
else
  temporal operator namespace create --namespace "${NAMESPACE}" \
    --retention "${NAMESPACE_RETENTION}" --address "${TEMPORAL_ADDRESS}"
fi

# A new namespace reaches the server's namespace cache after a few seconds.
tries=0
until existing=$(temporal operator search-attribute list --namespace "${NAMESPACE}" \
    --address "${TEMPORAL_ADDRESS}" 2>/dev/null); do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "namespace ${NAMESPACE} did not become usable"; exit 1; }
  sleep 1
done
for attribute in ${SEARCH_ATTRIBUTES}; do
  name=${attribute%%=*}
  type=${attribute#*=}
  if echo "${existing}" | grep -qw "${name}"; then
    echo "search attribute ${name} exists"
  else
    temporal operator search-attribute create --namespace "${NAMESPACE}" \
      --name "${name}" --type "${type}" --address "${TEMPORAL_ADDRESS}"
  fi
done
echo "namespace ${NAMESPACE} is ready"
