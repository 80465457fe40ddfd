//! The sale screen: ring up lines with the keyboard (or a barcode scanner), see the exact total, charge.
//!
//! Keys: Enter moves name → price → quantity and adds the line on the last field; Enter on an empty name, or
//! F12 anywhere on this screen, charges. A price that does not parse exactly is refused with red text beside
//! the field: nothing is added and nothing is rounded.

use std::collections::HashMap;

use eframe::egui::{self, Key, Modifiers, RichText};

use super::app::{Intent, PaydeskApp};
use super::i18n::Lang;
use super::theme::{colour, size, space};
use crate::engine::{Cart, CartLine, OrderView};
use crate::money::Fen;

/// The largest quantity one line takes.
pub const MAX_QTY: u32 = 9999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Price,
    Qty,
}

/// The cart and the entry fields.
#[derive(Debug)]
pub struct SaleState {
    pub lines: Vec<CartLine>,
    pub name: String,
    pub price: String,
    pub qty: String,
    pub name_error: Option<String>,
    pub price_error: Option<String>,
    pub qty_error: Option<String>,
    /// A line taken back into the fields for editing goes back to this position.
    pub editing: Option<usize>,
    pub charging: bool,
    pub charge_error: Option<String>,
    /// Events for an order whose Charge answer has not arrived yet.
    pub(crate) early_events: HashMap<String, OrderView>,
    focus: Option<Field>,
}

impl Default for SaleState {
    fn default() -> Self {
        SaleState {
            lines: Vec::new(),
            name: String::new(),
            price: String::new(),
            qty: "1".into(),
            name_error: None,
            price_error: None,
            qty_error: None,
            editing: None,
            charging: false,
            charge_error: None,
            early_events: HashMap::new(),
            focus: Some(Field::Name),
        }
    }
}

impl SaleState {
    pub fn clear(&mut self) {
        *self = SaleState::default();
    }

    pub fn focus_name(&mut self) {
        self.focus = Some(Field::Name);
    }

    /// The exact total, `None` if it overflows.
    pub fn total(&self) -> Option<Fen> {
        Cart {
            lines: self.lines.clone(),
            cashier: String::new(),
        }
        .total()
    }

    fn clear_errors(&mut self) {
        self.name_error = None;
        self.price_error = None;
        self.qty_error = None;
    }

    /// Check the price field; on error, say why beside it and keep the cursor there.
    fn check_price(&mut self, lang: Lang) -> Option<Fen> {
        match Fen::parse_yuan(&self.price) {
            Ok(fen) => {
                self.price_error = None;
                Some(fen)
            }
            Err(e) => {
                self.price_error = Some(lang.money_error(&e));
                self.focus = Some(Field::Price);
                None
            }
        }
    }

    fn check_qty(&mut self, lang: Lang) -> Option<u32> {
        match self.qty.trim().parse::<u32>() {
            Ok(q) if (1..=MAX_QTY).contains(&q) => {
                self.qty_error = None;
                Some(q)
            }
            _ => {
                self.qty_error = Some(lang.t().qty_invalid.into());
                self.focus = Some(Field::Qty);
                None
            }
        }
    }

    /// Add the line in the fields, if every field is right. Returns whether it was added.
    pub fn try_add(&mut self, lang: Lang) -> bool {
        let t = lang.t();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            self.name_error = Some(t.name_required.into());
            self.focus = Some(Field::Name);
            return false;
        }
        self.name_error = None;
        let Some(unit_price) = self.check_price(lang) else {
            return false;
        };
        let Some(qty) = self.check_qty(lang) else {
            return false;
        };
        let line = CartLine {
            name,
            unit_price,
            qty,
        };
        if line.total().is_none_or(|t| t > Fen::MAX) {
            self.qty_error = Some(t.line_too_large.into());
            self.focus = Some(Field::Qty);
            return false;
        }
        let at = self
            .editing
            .take()
            .unwrap_or(self.lines.len())
            .min(self.lines.len());
        self.lines.insert(at, line);
        self.name.clear();
        self.price.clear();
        self.qty = "1".into();
        self.clear_errors();
        self.focus = Some(Field::Name);
        true
    }

    /// Take line `i` back into the fields.
    pub fn edit(&mut self, i: usize) {
        if i >= self.lines.len() {
            return;
        }
        let line = self.lines.remove(i);
        self.name = line.name;
        self.price = line.unit_price.yuan_string();
        self.qty = line.qty.to_string();
        self.editing = Some(i);
        self.clear_errors();
        self.focus = Some(Field::Name);
    }

    pub fn remove(&mut self, i: usize) {
        if i < self.lines.len() {
            self.lines.remove(i);
            if let Some(e) = self.editing.as_mut()
                && *e > i
            {
                *e -= 1;
            }
        }
    }

    /// The cart to charge, or why it cannot be charged.
    pub fn cart_to_charge(&mut self, lang: Lang, cashier: &str) -> Option<Cart> {
        let t = lang.t();
        if self.lines.is_empty() || self.charging {
            return None;
        }
        match self.total() {
            None => {
                self.charge_error = Some(t.total_too_large.into());
                None
            }
            Some(total) if total > Fen::MAX => {
                self.charge_error = Some(t.total_too_large.into());
                None
            }
            Some(total) if total == Fen::ZERO => {
                self.charge_error = Some(t.total_is_zero.into());
                None
            }
            Some(_) => Some(Cart {
                lines: self.lines.clone(),
                cashier: cashier.to_owned(),
            }),
        }
    }
}

fn field_error(ui: &mut egui::Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.label(RichText::new(e).color(colour::ERROR).size(size::BODY));
    }
}

fn entry_field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    hint: &str,
    width: f32,
    focus: bool,
) -> egui::Response {
    let label = ui.label(RichText::new(label).size(size::BODY));
    let response = ui.add(
        egui::TextEdit::singleline(text)
            .hint_text(hint)
            .font(egui::FontId::proportional(size::FIELD))
            .desired_width(width),
    );
    let response = response.labelled_by(label.id);
    if focus {
        response.request_focus();
    }
    response
}

/// Draw the sale screen.
pub fn draw(app: &mut PaydeskApp, ui: &mut egui::Ui) {
    let lang = app.lang();
    let t = lang.t();
    let sale = &mut app.sale;
    let mut charge = false;

    // The entry row. When nothing has the keyboard (after a click elsewhere), the name field takes it, so a
    // barcode scanner's input never goes nowhere.
    if sale.focus.is_none() && ui.memory(|m| m.focused().is_none()) {
        sale.focus = Some(Field::Name);
    }
    let focus = sale.focus.take();
    ui.add_space(space::GAP);
    let enter = |ui: &egui::Ui, r: &egui::Response| {
        r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter))
    };
    ui.horizontal_wrapped(|ui| {
        let before = sale.name.clone();
        let r = entry_field(
            ui,
            t.item_name,
            &mut sale.name,
            t.item_name_hint,
            260.0,
            focus == Some(Field::Name),
        );
        if sale.name != before {
            sale.name_error = None;
        }
        if enter(ui, &r) {
            if sale.name.trim().is_empty() {
                if sale.lines.is_empty() {
                    sale.focus = Some(Field::Name);
                } else {
                    charge = true;
                }
            } else {
                sale.focus = Some(Field::Price);
            }
        }
        field_error(ui, &sale.name_error);

        let before = sale.price.clone();
        let r = entry_field(
            ui,
            t.unit_price,
            &mut sale.price,
            t.unit_price_hint,
            140.0,
            focus == Some(Field::Price),
        );
        if sale.price != before {
            sale.price_error = None;
        }
        if enter(ui, &r) && sale.check_price(lang).is_some() {
            sale.focus = Some(Field::Qty);
        }
        field_error(ui, &sale.price_error);

        let before = sale.qty.clone();
        let r = entry_field(
            ui,
            t.quantity,
            &mut sale.qty,
            "1",
            70.0,
            focus == Some(Field::Qty),
        );
        if sale.qty != before {
            sale.qty_error = None;
        }
        if enter(ui, &r) {
            sale.try_add(lang);
        }
        field_error(ui, &sale.qty_error);

        if ui.button(t.add_line).clicked() {
            sale.try_add(lang);
        }
    });
    ui.label(
        RichText::new(t.keyboard_help)
            .color(colour::MUTED)
            .size(14.0),
    );
    ui.separator();

    if ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F12)) {
        charge = true;
    }

    // Total and Charge at the bottom, always visible.
    egui::Panel::bottom("sale_total")
        .show_separator_line(true)
        .show(ui, |ui| {
            ui.add_space(space::GAP);
            ui.horizontal(|ui| {
                let total = sale.total();
                let total_text = match total {
                    Some(t) => t.to_string(),
                    None => "—".into(),
                };
                // One label, so it reads as one phrase: "合计 ¥19.05".
                let mut job = egui::text::LayoutJob::default();
                let text_colour = ui.visuals().strong_text_color();
                job.append(
                    &format!("{} ", t.total),
                    0.0,
                    egui::TextFormat::simple(
                        egui::FontId::proportional(size::HEADING),
                        text_colour,
                    ),
                );
                job.append(
                    &total_text,
                    0.0,
                    egui::TextFormat::simple(egui::FontId::proportional(size::TOTAL), text_colour),
                );
                ui.label(job);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let can_charge = !sale.lines.is_empty() && !sale.charging;
                    let label = if sale.charging { t.charging } else { t.charge };
                    let button = egui::Button::new(
                        RichText::new(label)
                            .size(size::HEADING)
                            .color(colour::CHARGE_TEXT),
                    )
                    .fill(colour::CHARGE)
                    .min_size(egui::vec2(220.0, size::BIG_BUTTON_HEIGHT));
                    if ui.add_enabled(can_charge, button).clicked() {
                        charge = true;
                    }
                    if ui
                        .add_enabled(
                            !sale.lines.is_empty() && !sale.charging,
                            egui::Button::new(t.clear_cart),
                        )
                        .clicked()
                    {
                        sale.lines.clear();
                        sale.editing = None;
                        sale.charge_error = None;
                        sale.focus = Some(Field::Name);
                    }
                });
            });
            if let Some(e) = &sale.charge_error {
                ui.label(
                    RichText::new(format!("{}: {e}", t.charge_failed))
                        .color(colour::ERROR)
                        .size(size::BODY),
                );
            }
            ui.add_space(space::GAP);
        });

    // The lines.
    egui::CentralPanel::no_frame().show(ui, |ui| {
        if sale.lines.is_empty() {
            ui.add_space(space::SECTION);
            ui.label(RichText::new(t.empty_cart).color(colour::MUTED));
            return;
        }
        let mut edit = None;
        let mut remove = None;
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                egui::Grid::new("cart_lines")
                    .striped(true)
                    .num_columns(6)
                    .spacing(egui::vec2(24.0, 10.0))
                    .show(ui, |ui| {
                        for h in [t.col_item, t.col_unit_price, t.col_qty, t.col_line_total] {
                            ui.label(RichText::new(h).color(colour::MUTED));
                        }
                        ui.label("");
                        ui.label("");
                        ui.end_row();
                        for (i, line) in sale.lines.iter().enumerate() {
                            ui.label(RichText::new(&line.name).size(size::FIELD));
                            ui.label(RichText::new(line.unit_price.to_string()).size(size::FIELD));
                            ui.label(RichText::new(format!("× {}", line.qty)).size(size::FIELD));
                            let lt = line.total().map_or_else(|| "—".into(), |f| f.to_string());
                            ui.label(RichText::new(lt).size(size::FIELD).strong());
                            if ui
                                .add_enabled(!sale.charging, egui::Button::new(t.edit_line))
                                .clicked()
                            {
                                edit = Some(i);
                            }
                            if ui
                                .add_enabled(!sale.charging, egui::Button::new(t.remove_line))
                                .clicked()
                            {
                                remove = Some(i);
                            }
                            ui.end_row();
                        }
                    });
            });
        if let Some(i) = edit {
            sale.edit(i);
        }
        if let Some(i) = remove {
            sale.remove(i);
            sale.focus = Some(Field::Name);
        }
    });

    // A field asked for the cursor: the next frame gives it, so make sure there is one.
    if app.sale.focus.is_some() {
        ui.ctx().request_repaint();
    }
    if charge {
        let cashier = app.info.cashier.clone();
        if let Some(cart) = app.sale.cart_to_charge(lang, &cashier) {
            app.request(Intent::Charge(cart));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_exact_lines_and_refuses_bad_prices() {
        let mut s = SaleState {
            name: "可乐".into(),
            price: "3.50".into(),
            qty: "2".into(),
            ..SaleState::default()
        };
        assert!(s.try_add(Lang::Zh));
        assert_eq!(s.total(), Fen::new(700));
        assert_eq!(s.qty, "1");

        for bad in ["3.505", "-1", "abc", "", "1e3"] {
            s.name = "面包".into();
            s.price = bad.into();
            assert!(!s.try_add(Lang::Zh), "{bad:?} must be refused");
            assert!(s.price_error.is_some());
            assert_eq!(s.lines.len(), 1);
        }
        s.price = "0.10".into();
        s.qty = "0".into();
        assert!(!s.try_add(Lang::Zh));
        assert!(s.qty_error.is_some());
        s.qty = "3".into();
        assert!(s.try_add(Lang::Zh));
        assert_eq!(s.total(), Fen::new(730));
    }

    #[test]
    fn edit_puts_the_line_back_where_it_was() {
        let mut s = SaleState::default();
        for (n, p) in [("a", "1"), ("b", "2"), ("c", "3")] {
            s.name = n.into();
            s.price = p.into();
            assert!(s.try_add(Lang::En));
        }
        s.edit(1);
        assert_eq!(s.name, "b");
        assert_eq!(s.price, "2.00");
        s.qty = "5".into();
        assert!(s.try_add(Lang::En));
        assert_eq!(s.lines[1].qty, 5);
        assert_eq!(s.total(), Fen::new(1400));
        s.remove(0);
        assert_eq!(s.total(), Fen::new(1300));
    }

    #[test]
    fn zero_total_is_not_charged() {
        let mut s = SaleState {
            name: "赠品".into(),
            price: "0".into(),
            ..SaleState::default()
        };
        assert!(s.try_add(Lang::Zh));
        assert!(s.cart_to_charge(Lang::Zh, "x").is_none());
        assert!(s.charge_error.is_some());
    }
}
