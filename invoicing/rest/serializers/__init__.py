"""Input and output serializers of the invoicing API, one module per module of invoicing/rest/views (and `common`
for the fields and references they share).

Inputs only parse (types, lengths, known choices); every rule lives in the services they are handed to. Outputs
render amounts as decimal strings quantised to their currency (`MoneyField`: an invoice's or a payment's amounts
in the invoice's currency, others in the admin's), never floats.
"""
