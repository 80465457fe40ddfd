//! The sale screen: ring up lines with the keyboard (or a barcode scanner), see the exact total, charge.
//!
//! Keys: Enter moves name → price → quantity and adds the line on the last field; Enter on an empty name, or
//! F12 anywhere on this screen, charges. A price that does not parse exactly is refused with red text beside
//! the field: nothing is added and nothing is rounded.
//!
//! The entry fields are this screen's own edit buffer ([`SaleForm`]), checked here; the cart is read-only here
//! and changes through commands (a checked line is pushed as [`UiCommand::AddLine`]). What a cart may be charged
//! for is the reducer's to decide.

use eframe::egui::{self, Key, Modifiers, RichText};

use super::command::UiCommand;
use super::i18n::{Lang, Texts};
use super::screens::ScreenCtx;
use super::state::SaleState;
use super::theme::{colour, size, space};
use crate::app::window::CartLine;
use crate::money::Fen;

/// The largest quantity one line takes.
pub const MAX_QTY: u32 = 9999;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Price,
    Qty,
}

/// The entry fields: the text typed, why it was refused, and which field gets the cursor next.
#[derive(Debug)]
pub struct SaleForm {
    pub name: String,
    pub price: String,
    pub qty: String,
    pub name_error: Option<String>,
    pub price_error: Option<String>,
    pub qty_error: Option<String>,
    focus: Option<Field>,
}

impl Default for SaleForm {
    fn default() -> Self {
        SaleForm {
            name: String::new(),
            price: String::new(),
            qty: "1".into(),
            name_error: None,
            price_error: None,
            qty_error: None,
            focus: Some(Field::Name),
        }
    }
}

impl SaleForm {
    pub fn focus_name(&mut self) {
        self.focus = Some(Field::Name);
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

    /// The line in the fields, if every field is right; the fields are then emptied for the next line.
    /// Otherwise the reason is shown beside the field that is wrong, and nothing is taken.
    pub fn take_line(&mut self, lang: Lang) -> Option<CartLine> {
        let t = lang.t();
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            self.name_error = Some(t.name_required.into());
            self.focus = Some(Field::Name);
            return None;
        }
        self.name_error = None;
        let unit_price = self.check_price(lang)?;
        let qty = self.check_qty(lang)?;
        let line = CartLine {
            name,
            unit_price,
            qty,
        };
        if line.total().is_none_or(|t| t > Fen::MAX) {
            self.qty_error = Some(t.line_too_large.into());
            self.focus = Some(Field::Qty);
            return None;
        }
        self.name.clear();
        self.price.clear();
        self.qty = "1".into();
        self.clear_errors();
        self.focus = Some(Field::Name);
        Some(line)
    }

    /// Put a line taken back from the cart into the fields.
    pub fn load(&mut self, line: CartLine) {
        self.name = line.name;
        self.price = line.unit_price.yuan_string();
        self.qty = line.qty.to_string();
        self.clear_errors();
        self.focus = Some(Field::Name);
    }
}

fn field_error(ui: &mut egui::Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.label(RichText::new(e).color(colour::ERROR).size(size::BODY));
    }
}

/// One labelled entry field: its response, and whether its text changed this frame.
fn entry_field(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    hint: &str,
    width: f32,
    focus: bool,
) -> (egui::Response, bool) {
    let before = text.clone();
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
    let changed = *text != before;
    (response, changed)
}

/// Draw the sale screen: the entry row, then the total and Charge at the bottom, then the lines.
pub(crate) fn draw(
    ui: &mut egui::Ui,
    cx: &ScreenCtx<'_>,
    form: &mut SaleForm,
    out: &mut Vec<UiCommand>,
) {
    let sale = &cx.state.sale;
    entry_row(ui, cx.lang, sale, form, out);
    ui.label(
        RichText::new(cx.t.keyboard_help)
            .color(colour::MUTED)
            .size(14.0),
    );
    ui.separator();

    if ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F12)) {
        out.push(UiCommand::Charge);
    }
    // Total and Charge at the bottom, always visible.
    egui::Panel::bottom("sale_total")
        .show_separator_line(true)
        .show(ui, |ui| totals_bar(ui, cx.t, sale, out));
    egui::CentralPanel::no_frame().show(ui, |ui| cart_table(ui, cx.t, sale, out));

    // A field asked for the cursor: the next frame gives it, so make sure there is one.
    if form.focus.is_some() {
        ui.ctx().request_repaint();
    }
}

/// The entry row. Enter moves name → price → quantity and adds the line on the last field; Enter on an empty
/// name charges. When nothing has the keyboard (after a click elsewhere), the name field takes it, so a
/// barcode scanner's input never goes nowhere.
fn entry_row(
    ui: &mut egui::Ui,
    lang: Lang,
    sale: &SaleState,
    form: &mut SaleForm,
    out: &mut Vec<UiCommand>,
) {
    let t = lang.t();
    if form.focus.is_none() && ui.memory(|m| m.focused().is_none()) {
        form.focus = Some(Field::Name);
    }
    let focus = form.focus.take();
    ui.add_space(space::GAP);
    let enter = |ui: &egui::Ui, r: &egui::Response| {
        r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter))
    };
    ui.horizontal_wrapped(|ui| {
        let (r, changed) = entry_field(
            ui,
            t.item_name,
            &mut form.name,
            t.item_name_hint,
            260.0,
            focus == Some(Field::Name),
        );
        if changed {
            form.name_error = None;
        }
        if enter(ui, &r) {
            if form.name.trim().is_empty() {
                if sale.lines.is_empty() {
                    form.focus = Some(Field::Name);
                } else {
                    out.push(UiCommand::Charge);
                }
            } else {
                form.focus = Some(Field::Price);
            }
        }
        field_error(ui, &form.name_error);

        let (r, changed) = entry_field(
            ui,
            t.unit_price,
            &mut form.price,
            t.unit_price_hint,
            140.0,
            focus == Some(Field::Price),
        );
        if changed {
            form.price_error = None;
        }
        if enter(ui, &r) && form.check_price(lang).is_some() {
            form.focus = Some(Field::Qty);
        }
        field_error(ui, &form.price_error);

        let (r, changed) = entry_field(
            ui,
            t.quantity,
            &mut form.qty,
            "1",
            70.0,
            focus == Some(Field::Qty),
        );
        if changed {
            form.qty_error = None;
        }
        if enter(ui, &r) {
            add_line(form, lang, out);
        }
        field_error(ui, &form.qty_error);

        if ui.button(t.add_line).clicked() {
            add_line(form, lang, out);
        }
    });
}

fn add_line(form: &mut SaleForm, lang: Lang, out: &mut Vec<UiCommand>) {
    if let Some(line) = form.take_line(lang) {
        out.push(UiCommand::AddLine(line));
    }
}

/// "合计 ¥19.05", Charge and Clear, and why the last Charge failed.
fn totals_bar(ui: &mut egui::Ui, t: &Texts, sale: &SaleState, out: &mut Vec<UiCommand>) {
    ui.add_space(space::GAP);
    ui.horizontal(|ui| {
        let total_text = match sale.total() {
            Some(t) => t.to_string(),
            None => "—".into(),
        };
        // One label, so it reads as one phrase: "合计 ¥19.05".
        let mut job = egui::text::LayoutJob::default();
        let text_colour = ui.visuals().strong_text_color();
        job.append(
            &format!("{} ", t.total),
            0.0,
            egui::TextFormat::simple(egui::FontId::proportional(size::HEADING), text_colour),
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
                out.push(UiCommand::Charge);
            }
            if ui
                .add_enabled(can_charge, egui::Button::new(t.clear_cart))
                .clicked()
            {
                out.push(UiCommand::ClearCart);
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
}

/// The lines of the cart, each with Edit and Remove.
fn cart_table(ui: &mut egui::Ui, t: &Texts, sale: &SaleState, out: &mut Vec<UiCommand>) {
    if sale.lines.is_empty() {
        ui.add_space(space::SECTION);
        ui.label(RichText::new(t.empty_cart).color(colour::MUTED));
        return;
    }
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
                            out.push(UiCommand::EditLine(i));
                        }
                        if ui
                            .add_enabled(!sale.charging, egui::Button::new(t.remove_line))
                            .clicked()
                        {
                            out.push(UiCommand::RemoveLine(i));
                        }
                        ui.end_row();
                    }
                });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_exact_lines_and_refuses_bad_prices() {
        let mut f = SaleForm {
            name: "可乐".into(),
            price: "3.50".into(),
            qty: "2".into(),
            ..SaleForm::default()
        };
        let line = f.take_line(Lang::Zh).unwrap();
        assert_eq!(line.total(), Fen::new(700));
        assert_eq!(f.qty, "1");
        assert!(f.name.is_empty() && f.price.is_empty());

        for bad in ["3.505", "-1", "abc", "", "1e3"] {
            f.name = "面包".into();
            f.price = bad.into();
            assert!(f.take_line(Lang::Zh).is_none(), "{bad:?} must be refused");
            assert!(f.price_error.is_some());
            assert_eq!(f.name, "面包", "the fields are kept");
        }
        f.price = "0.10".into();
        f.qty = "0".into();
        assert!(f.take_line(Lang::Zh).is_none());
        assert!(f.qty_error.is_some());
        f.qty = "3".into();
        assert_eq!(f.take_line(Lang::Zh).unwrap().total(), Fen::new(30));
        assert!(f.price_error.is_none() && f.qty_error.is_none());
    }

    #[test]
    fn an_empty_name_or_a_huge_line_is_refused() {
        let mut f = SaleForm {
            price: "1".into(),
            ..SaleForm::default()
        };
        assert!(f.take_line(Lang::En).is_none());
        assert!(f.name_error.is_some());
        f.name = "gold".into();
        f.price = "99999".into();
        f.qty = "9999".into();
        assert!(f.take_line(Lang::En).is_none());
        assert!(f.qty_error.is_some());
    }
}
