"""Documents a customer keeps: an invoice as a PDF, in the customer's language (Arabic laid
out right to left), with the fonts it needs shipped beside it so that it renders the same in
Lambda as on a laptop."""
