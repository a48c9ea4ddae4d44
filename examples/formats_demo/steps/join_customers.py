"""Join each order to its customer (a pandas merge): the order gains name, country, segment."""


def run(ctx, orders, customers, output):
    enriched = orders.merge(customers, on="customer_id", how="left", validate="many_to_one")
    missing = int(enriched["country"].isna().sum())
    if missing:
        ctx.emit_event("warning", "orders without a known customer", orders=missing)
    return {"output": enriched}


run.declared_inputs = ["orders", "customers"]
run.declared_outputs = ["output"]
